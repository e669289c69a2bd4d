"""Track representations: learned embeddings of audio features (VAE latents, tagger features)."""
