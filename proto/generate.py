"""Generate the Python code for proto/jis/v1/*.proto into jis/v1/.

The one way generated code is made. Run from anywhere:

    python proto/generate.py          # regenerate
    python proto/generate.py --check  # fail if the committed code differs

The output depends on the grpcio-tools version, which pyproject.toml pins in the
``test`` extra so that every machine writes the same bytes.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_PACKAGE = ROOT / "jis" / "v1"
HEADER = '"""Generated from proto/jis/v1 by proto/generate.py. Do not edit."""\n'


def generate(out_root: Path) -> Path:
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in (PROTO_DIR / "jis" / "v1").glob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    out = out_root / "jis" / "v1"
    (out / "__init__.py").write_text(HEADER)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        if args.check:
            cmp = filecmp.dircmp(fresh, OUT_PACKAGE, ignore=["__pycache__"])
            diff = cmp.left_only + cmp.right_only + cmp.diff_files
            if diff:
                print(f"generated code in jis/v1 is stale: {sorted(diff)}; run python proto/generate.py")
                return 1
            print("generated code in jis/v1 is up to date")
            return 0
        if OUT_PACKAGE.exists():
            shutil.rmtree(OUT_PACKAGE)
        shutil.copytree(fresh, OUT_PACKAGE)
    print(f"wrote {OUT_PACKAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
