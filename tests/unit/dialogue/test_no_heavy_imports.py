import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_tree_cues_store_import_no_torch_or_gradio():
    code = (
        "import sys, dialogue.tree, dialogue.cues, dialogue.store; "
        "heavy = sorted(m for m in ('torch', 'gradio') if m in sys.modules); "
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
