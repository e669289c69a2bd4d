"""``musicrec tag AUDIO_FILE``: the mean tag probabilities of a clip as JSON (pretrained musicnn tagger)."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tag", help="tag an audio file with a pretrained musicnn model; print {tag: probability} as JSON")
    parser.add_argument("audio", nargs="?", help="audio file (any format soundfile/librosa reads, >= 3 s)")
    parser.add_argument("--model", default="msd_vgg", help="msd_vgg (default) or msd_musicnn")
    parser.add_argument("--top", type=int, default=None, help="print only the N most probable tags")
    parser.add_argument("--weights-dir", default="data/musicnn",
                        help="folder of the musicnn wheel and the converted weights")
    parser.add_argument("--convert", action="store_true",
                        help="convert the weights of the musicnn wheel in --weights-dir to torch (make setup does this)")
    parser.set_defaults(func=_tag)


def _tag(args) -> int:
    import json

    from musicrec.errors import ParameterError
    from musicrec.features.tagger import convert_wheel, load_tagger
    from musicrec.utils import setup_torch

    if args.convert:
        for path in convert_wheel(weights_dir=args.weights_dir):
            print(f"wrote {path}")
        if args.audio is None:
            return 0
    if args.audio is None:
        raise ParameterError("give an AUDIO file to tag (or --convert)")
    setup_torch("cpu")
    output = load_tagger(args.model, weights_dir=args.weights_dir).tag_file(args.audio)
    tags = dict(output.top_tags(args.top)) if args.top else output.as_dict()
    print(json.dumps({tag: round(p, 6) for tag, p in tags.items()}, indent=1))
    return 0
