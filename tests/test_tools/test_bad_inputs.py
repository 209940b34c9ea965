"""Bad input through the real command-line tools: a few lines, exit 2.

Every case runs its script as ``python SCRIPT ARGS`` would (the script's
``__main__`` with ``sys.argv`` set) in a subprocess; the cases share
``WORKERS`` subprocesses, run once in a module-scoped fixture, because
each process spends several seconds importing mmdet. Each test then checks one
case: exit status 2, the message on stderr, at most ``MAX_LINES`` lines, no
traceback, and that the output path was not written.
``python tests/test_tools/test_bad_inputs.py`` prints the table of
docs/errors.md.
"""
import datetime
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, NamedTuple, Optional

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MAX_LINES = 4
WORKERS = 2


class Case(NamedTuple):
    name: str  # the bad input, as the table lists it
    args: List[str]  # tool (relative to the repo) and arguments
    expected: str  # a part of the message
    out: Optional[str] = None  # an output path that must not be written


CASES = [
    Case('missing config', ['tools/train.py', 'nope.py'],
         'config file nope.py does not exist'),
    Case('corrupt config (syntax error)', ['tools/train.py', 'syntax.py'],
         "syntax.py: not a valid Python config file: '(' was never closed"),
    Case('config-key typo', ['tools/train.py', 'typo.py'],
         "'train_dataloder'; did you mean 'train_dataloader'"),
    Case('model-key typo (--cfg-options)', [
        'tools/train.py', 'tiny.py', '--cfg-options',
        'model.backbone.depht=50'
    ], "unexpected keyword argument 'depht'"),
    Case('missing checkpoint',
         ['tools/test.py', 'tiny.py', 'missing.pth', '--out', 'out.pkl'],
         'checkpoint missing.pth does not exist', 'out.pkl'),
    Case('corrupt checkpoint',
         ['tools/test.py', 'tiny.py', 'garbage.pth', '--out', 'out.pkl'],
         'garbage.pth: not a readable PyTorch checkpoint', 'out.pkl'),
    Case('untrusted pickle in a checkpoint',
         ['tools/test.py', 'tiny.py', 'pickled.pth', '--out', 'out.pkl'],
         'pass --trust-checkpoint or set MMREGION_TRUST_CHECKPOINTS=1',
         'out.pkl'),
    Case('wrong-architecture weights',
         ['tools/test.py', 'tiny.py', 'wrong.pth', '--out', 'out.pkl'],
         'wrong.pth: 1 weight(s) have other shapes than the model of the '
         'config (another architecture or number of classes?): '
         'backbone.conv1.weight: (2, 3, 3, 3) in the file', 'out.pkl'),
    Case('converter input that is not a checkpoint', [
        'tools/model_converters/regionclip_to_mmregion.py', 'names.txt',
        'conv.pth'
    ], 'names.txt: not a readable PyTorch checkpoint', 'conv.pth'),
    Case('YOLACT converter input that is not a checkpoint', [
        'tools/model_converters/yolact_to_mmregion.py', 'empty.png',
        'conv.pth'
    ], 'empty.png: not a readable PyTorch checkpoint', 'conv.pth'),
    Case('export of a corrupt pretraining checkpoint',
         ['tools/misc/export_student.py', 'garbage.pth', 'student.pth'],
         'garbage.pth: not a readable PyTorch checkpoint', 'student.pth'),
    Case('missing image input',
         ['demo/image_demo.py', 'missing.png', 'tiny.py', '--out-dir', 'vis'],
         'missing.png: no such image file or folder', 'vis'),
    Case('unreadable image input',
         ['demo/image_demo.py', 'bad.png', 'tiny.py', '--out-dir', 'vis'],
         'bad.png: not a readable image', 'vis'),
    Case('empty image file',
         ['demo/image_demo.py', 'empty.png', 'tiny.py', '--out-dir', 'vis'],
         'empty.png: the image file is empty', 'vis'),
    Case('folder without images',
         ['demo/image_demo.py', 'no_images', 'tiny.py', '--out-dir', 'vis'],
         'no_images: the folder has no images', 'vis'),
    Case('empty names file', [
        'tools/misc/extract_text_embeddings.py', '--names-file', 'empty.txt',
        '--model', 'RN-tiny', '--out', 'emb.pth'
    ], 'empty vocabulary', 'emb.pth'),
    Case('empty vocabulary', [
        'tools/misc/extract_text_embeddings.py', '--names', ' . , ',
        '--model', 'RN-tiny', '--out', 'emb.pth'
    ], 'empty vocabulary', 'emb.pth'),
    Case('unknown open_clip model name', [
        'tools/misc/extract_text_embeddings.py', '--names', 'cat',
        '--model', 'RN-nope', '--out', 'emb.pth'
    ], 'RN-nope', 'emb.pth'),
    Case('embeddings whose class count differs from the dataset',
         ['tools/test.py', 'ovd.py', '--out', 'out.pkl'],
         'emb_base.pth: 6 embeddings but the test dataset has 8 classes',
         'out.pkl'),
    Case('annotation file without images', [
        'tools/misc/make_ovd_split.py', 'custom', 'no_images.json', 'split',
        '--novel', 'circle'
    ], 'no_images.json: the file lists no images', 'split'),
    Case('annotation with an unknown category id', [
        'tools/misc/make_ovd_split.py', 'custom', 'bad_category.json',
        'split', '--novel', 'circle'
    ], 'has category_id 99, which is not among the file', 'split'),
    Case('malformed polygon', [
        'tools/misc/make_ovd_split.py', 'custom', 'bad_polygon.json',
        'split', '--novel', 'circle'
    ], 'polygon 0 has 3 coordinates', 'split'),
    Case('novel class that is not a category', [
        'tools/misc/make_ovd_split.py', 'custom', 'instances.json', 'split',
        '--novel', 'circel'
    ], "class name(s) ['circel'] are not categories", 'split'),
    Case('dataset with no images (training)',
         ['tools/train.py', 'no_images_cfg.py', '--work-dir', 'work'],
         'the dataset is empty'),
]
DEBUG_CASE = Case('missing config, --debug',
                  ['tools/train.py', 'nope.py', '--debug'], 'Traceback')


def make_inputs(root: str, shapes_root: str) -> None:
    """Write every bad (and the few good) input files into ``root``."""
    import open_clip
    from conftest import write_tiny_config

    from mmregion.datasets.ovd_split import make_custom_ovd_split

    def write(name: str, text: str) -> None:
        with open(osp.join(root, name), 'w') as f:
            f.write(text)

    tiny = write_tiny_config(shapes_root, osp.join(root, 'tiny.py'))
    write_tiny_config(shapes_root, osp.join(root, 'typo.py'),
                      train_dataloder=dict(batch_size=4))
    write('syntax.py', 'model = dict(type=\n')
    write('names.txt', 'cat\ndog\n')
    write('empty.txt', '')
    write('bad.png', 'not an image')
    write('empty.png', '')
    os.makedirs(osp.join(root, 'no_images'))
    with open(osp.join(root, 'garbage.pth'), 'wb') as f:
        f.write(bytes(range(256)) * 4)
    torch.save(dict(state_dict={}, meta=dict(time=datetime.datetime(2020, 1,
                                                                    1))),
               osp.join(root, 'pickled.pth'))
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.zeros(2, 3, 3,
                                                                     3)}),
               osp.join(root, 'wrong.pth'))
    with open(osp.join(shapes_root, 'annotations',
                       'instances_train.json')) as f:
        data = json.load(f)
    write('instances.json', json.dumps(data))
    write('no_images.json', json.dumps(dict(data, images=[],
                                            annotations=[])))
    ann = [dict(a) for a in data['annotations']]
    ann[0]['category_id'] = 99
    write('bad_category.json', json.dumps(dict(data, annotations=ann)))
    ann = [dict(a) for a in data['annotations']]
    ann[0]['segmentation'] = [[1.0, 2.0, 3.0]]
    write('bad_polygon.json', json.dumps(dict(data, annotations=ann)))
    write_tiny_config(
        shapes_root, osp.join(root, 'no_images_cfg.py'), **{
            'train_dataloader.dataset.ann_file':
            osp.join(root, 'no_images.json')
        })
    # an open-vocabulary config whose test vocabulary has 6 of 8 classes
    split = make_custom_ovd_split(
        osp.join(shapes_root, 'annotations', 'instances_val.json'),
        osp.join(root, 'ovd'), novel_classes=['hexagon', 'heart'])
    torch.save(open_clip.create_model('RN-tiny').state_dict(),
               osp.join(root, 'clip.pth'))
    torch.save(dict(embeddings=torch.randn(6, 64), meta={}),
               osp.join(root, 'emb_base.pth'))
    write('ovd.py', f'''_base_ = {osp.join(REPO, 'configs', 'synthetic',
                 'regionclip_rn-tiny_c4_shapes-ovd.py')!r}
model = dict(backbone=dict(checkpoint='clip.pth'),
             roi_head=dict(bbox_head=dict(train_vocabulary='emb_base.pth',
                                          test_vocabulary='emb_base.pth')))
test_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(type='CustomOVDDataset', data_root={shapes_root!r},
                 ann_file={split['val_all']!r}))
test_evaluator = dict(ann_file={split['val_all']!r})
''')
    assert osp.isfile(tiny)


def _forget_runs() -> None:
    """Forget mmengine's per-process run state (message hub, visualisers,
    loggers), as a new process starts without it."""
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer
    for cls in (MessageHub, Visualizer, DetLocalVisualizer, MMLogger,
                DefaultScope):
        cls._instance_dict.clear()


def _run_in_this_process(cases: List[Case], root: str,
                         out_json: str) -> None:
    """Run each case's script as ``python SCRIPT ARGS`` does (its
    ``__main__``), in this process; write the results to ``out_json``."""
    import contextlib
    import io
    import runpy
    os.chdir(root)
    results = []
    for case in cases:
        _forget_runs()
        err, out = io.StringIO(), io.StringIO()
        sys.argv = [osp.join(REPO, case.args[0])] + case.args[1:]
        start = time.time()
        code = 0
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                runpy.run_path(sys.argv[0], run_name='__main__')
            except SystemExit as error:
                code = error.code if isinstance(error.code, int) else 1
        results.append(
            dict(returncode=code, stderr=err.getvalue(),
                 stdout=out.getvalue(),
                 wrote=bool(case.out) and osp.exists(case.out),
                 seconds=round(time.time() - start, 1)))
    with open(out_json, 'w') as f:
        json.dump(results, f)


def run_cases(cases: List[Case], root: str) -> List[Dict[str, object]]:
    """Run ``cases`` one after the other in one subprocess (their scripts
    share its imports); their exit statuses and output."""
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED='1',
               OMP_NUM_THREADS='1')
    env.pop('MMREGION_TRUST_CHECKPOINTS', None)
    out_json = osp.join(root, f'.results_{id(cases)}.json')
    spec = json.dumps([c._asdict() for c in cases])
    proc = subprocess.run(
        [sys.executable, __file__, '--run-cases', spec, root, out_json],
        env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out_json) as f:
        return json.load(f)


def run_all(root: str, shapes_root: str) -> Dict[str, Dict[str, object]]:
    """Make the inputs and run every case in ``WORKERS`` subprocesses."""
    make_inputs(root, shapes_root)
    cases = CASES + [DEBUG_CASE]
    groups = [cases[k::WORKERS] for k in range(WORKERS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        outputs = list(pool.map(lambda g: run_cases(g, root), groups))
    return {
        case.name: result
        for group, results in zip(groups, outputs)
        for case, result in zip(group, results)
    }


@pytest.fixture(scope='module')
def results(shapes_root, tmp_path_factory):
    return run_all(str(tmp_path_factory.mktemp('bad_inputs')), shapes_root)


@pytest.mark.parametrize('case', CASES, ids=[c.name for c in CASES])
def test_bad_input(case, results):
    result = results[case.name]
    err = result['stderr']
    assert result['returncode'] == 2, err[-3000:]
    assert 'Traceback' not in err, err[-3000:]
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= MAX_LINES, err
    assert lines[0].startswith('error: '), err
    assert case.expected in ' '.join(lines), err
    assert not result['wrote']


def test_debug_shows_the_traceback(results):
    result = results[DEBUG_CASE.name]
    assert result['returncode'] == 2
    assert 'Traceback (most recent call last)' in result['stderr']
    assert 'FileNotFoundError: config file nope.py' in result['stderr']


def markdown_table(results: Dict[str, Dict[str, object]]) -> str:
    """The docs/errors.md table: input, command, what it prints."""
    rows = ['| bad input | command | exit | prints (stderr) |',
            '| --- | --- | --- | --- |']
    for case in CASES:
        r = results[case.name]
        text = ' / '.join(r['stderr'].strip().splitlines()).replace('|', '\\|')
        command = shlex.join(['python'] + case.args).replace('|', '\\|')
        rows.append(f'| {case.name} | `{command}` | {r["returncode"]} | '
                    f'{text} |')
    return '\n'.join(rows)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--run-cases']:
        _run_in_this_process([Case(**c) for c in json.loads(sys.argv[2])],
                             sys.argv[3], sys.argv[4])
        sys.exit(0)
    import tempfile
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    import mmregion  # noqa: F401
    from mmregion.synthetic import ShapesConfig, generate_shapes_dataset
    with tempfile.TemporaryDirectory() as tmp:
        shapes = osp.join(tmp, 'shapes')
        generate_shapes_dataset(
            shapes, dict(train=16, val=8), seed=1,
            cfg=ShapesConfig(img_size=(96, 96), max_objects=3))
        os.makedirs(osp.join(tmp, 'run'))
        print(markdown_table(run_all(osp.join(tmp, 'run'), shapes)).replace(
            tmp, '/tmp'))
