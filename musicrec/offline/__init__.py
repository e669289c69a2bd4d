"""Learning from logged interactions: logging sessions and estimating unobserved tracks' rewards."""
