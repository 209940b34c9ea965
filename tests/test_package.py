"""Package structure: import side effects and the core/tooling layering."""
import ast
import os
import os.path as osp
import subprocess
import sys

import open_clip

from mmregion.data import register_clip_configs

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGE = osp.join(REPO, 'mmregion')
CORE = ('models', 'datasets', 'evaluation', 'engine', 'fileio', 'data',
        'synthetic', 'utils', 'compat.py', '__init__.py')
TOOLING = ('apis', 'analysis', 'converters', 'deploy')
DEPRECATION_SHIMS = {
    # moved names re-exported for one release, imported lazily on access
    'mmregion/models/language/__init__.py': {
        'mmregion.apis', 'mmregion.apis.class_names'
    },
}

_IMPORT_CHECK = r'''
import torch, open_clip
from mmengine.runner import checkpoint as ckpt
schemes = dict(ckpt.CheckpointLoader._schemes)
load, save = torch.load, torch.save
configs = {n: open_clip.get_model_config(n) for n in open_clip.list_models()}
import mmregion
from mmdet.registry import MODELS
assert MODELS.get('CLIPResNet') is not None, 'modules not registered'
after = dict(ckpt.CheckpointLoader._schemes)
assert after.keys() == schemes.keys(), 'checkpoint schemes changed'
assert all(after[k] is schemes[k] for k in schemes), 'a loader was replaced'
assert torch.load is load and torch.save is save, 'torch.load patched'
added = set(open_clip.list_models()) - set(configs)
assert added == {'RN-tiny'}, added
assert all(open_clip.get_model_config(n) == c for n, c in configs.items())
import mmregion.engine.checkpoint_loader as cl
assert ckpt.CheckpointLoader._schemes[''] is cl.load_checkpoint_file
print('ok')
'''


def test_import_is_registration():
    """``import mmregion`` registers modules and adds RN-tiny to open_clip;
    mmengine's loaders and torch.load are untouched until a config (or our
    tools) names mmregion.engine.checkpoint_loader."""
    proc = subprocess.run([sys.executable, '-c', _IMPORT_CHECK],
                          cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith('ok')


def test_clip_configs_never_override_open_clip(tmp_path):
    rn50 = open_clip.get_model_config('RN50')
    (tmp_path / 'RN50.json').write_text('{"embed_dim": 7}')
    assert register_clip_configs(str(tmp_path)) == []
    assert open_clip.get_model_config('RN50') == rn50


def _imported_modules(path):
    """Absolute module names that ``path`` imports (top level or lazy)."""
    rel = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
    package = rel.rsplit('.', 1)[0] if not rel.endswith('__init__') else \
        rel[:-len('.__init__')]
    names = []
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                mod = '.'.join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ''
            names.append(mod)
            names += [f'{mod}.{a.name}' for a in node.names]
    return names


def _core_files():
    for entry in CORE:
        top = osp.join(PACKAGE, entry)
        if entry.endswith('.py'):
            yield top
            continue
        for root, _, files in os.walk(top):
            yield from (osp.join(root, f) for f in files if f.endswith('.py'))


def test_core_never_imports_tooling():
    tooling = tuple(f'mmregion.{t}' for t in TOOLING)
    offences = [
        f'{osp.relpath(path, REPO)} imports {name}'
        for path in _core_files() for name in _imported_modules(path)
        if name.startswith(tooling) and name not in DEPRECATION_SHIMS.get(
            osp.relpath(path, REPO), ())
    ]
    assert not offences, '\n'.join(offences)


def test_layering_check_can_fail(tmp_path, monkeypatch):
    bad = tmp_path / 'mmregion' / 'models' / 'bad.py'
    bad.parent.mkdir(parents=True)
    bad.write_text('from ..apis import runner\n')
    monkeypatch.setattr(sys.modules[__name__], 'REPO', str(tmp_path))
    assert 'mmregion.apis.runner' in _imported_modules(str(bad))


def test_every_folder_is_a_layer():
    """Each top-level entry of the package is in exactly one layer."""
    entries = {
        e for e in os.listdir(PACKAGE)
        if not e.startswith(('_', '.')) or e == '__init__.py'
    } - {'__pycache__'}
    assert entries <= set(CORE) | set(TOOLING), entries - set(CORE + TOOLING)
