"""The gradio page of the web demo (needs the ``web`` extra: gradio).

Element ids, for browser tests and custom CSS: ``image-input``,
``input-preview``, ``vocab-mode``, ``words``, ``prompt-input`` (only with
image prompts), ``score-thr``, ``max-dets``, ``detect``, ``result-image``,
``status``, ``detections``, ``download``.
"""
import os
import os.path as osp
from typing import Any, Sequence

from .web_demo import MODEL_CLASSES, MY_PROMPTS, MY_WORDS, WebDemo

IMAGE_TYPES = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp']


def example_images(paths: Sequence[str], limit: int = 8) -> list:
    """Example images for the page: files as given, folders' images sorted.

    Args:
        paths (Sequence[str]): Image files and folders.
        limit (int): Most examples. Defaults to 8.

    Returns:
        list[str]: Up to ``limit`` image files.

    Raises:
        FileNotFoundError: When a path does not exist.
    """
    found = []
    for path in paths:
        if osp.isdir(path):
            found += sorted(
                osp.join(path, f) for f in os.listdir(path)
                if osp.splitext(f)[1].lower() in IMAGE_TYPES)
        elif osp.isfile(path):
            found.append(path)
        else:
            raise FileNotFoundError(f'example image or folder {path} does '
                                    f'not exist')
    return found[:limit]


def _header(demo: WebDemo) -> str:
    kind = ('open-vocabulary: type words, or keep its classes'
            if demo.open_vocabulary else 'fixed classes (takes no words)')
    return (f'## mmregion web demo\n{demo.name}, {kind}. Classes: '
            f'{", ".join(demo.classes)}.')


def theme() -> Any:
    """gradio's default theme with local fonts (the default one loads
    Google Fonts, which needs the network).

    Returns:
        gr.themes.Default: The theme.
    """
    import gradio as gr
    return gr.themes.Default(
        font=['ui-sans-serif', 'system-ui', 'sans-serif'],
        font_mono=['ui-monospace', 'monospace'])


def build_blocks(demo: WebDemo,
                 examples: Sequence[str] = (),
                 score_thr: float = 0.3,
                 max_dets: int = 100):
    """Lay out the page around a :class:`WebDemo`.

    Args:
        demo (WebDemo): The model.
        examples (Sequence[str]): Example image files to pick from.
        score_thr (float): The slider's start value. Defaults to 0.3.
        max_dets (int): The start value of the count slider.

    Returns:
        gr.Blocks: Call ``launch()`` to serve it (pass :func:`theme`).
    """
    import gradio as gr
    modes = [MY_WORDS, MODEL_CLASSES]
    if demo.image_prompter is not None:
        modes.append(MY_PROMPTS)
    with gr.Blocks(title='mmregion web demo') as blocks:
        gr.Markdown(_header(demo))
        with gr.Row():
            with gr.Column():
                image = gr.File(label='Image', file_types=['image'],
                                type='filepath', elem_id='image-input')
                preview = gr.Image(label='Input', type='numpy',
                                   interactive=False, height=240,
                                   elem_id='input-preview')
                if examples:
                    gr.Examples(examples=[[e] for e in examples],
                                inputs=[image], label='Examples')
                mode = gr.Radio(
                    modes, label='Vocabulary',
                    value=MY_WORDS if demo.open_vocabulary else
                    MODEL_CLASSES, elem_id='vocab-mode')
                words = gr.Textbox(
                    label="Words ('.' or ',' between classes, '|' between "
                    'synonyms)', placeholder='circle . star . heart',
                    elem_id='words')
                prompts = None
                if demo.image_prompter is not None:
                    prompts = gr.File(label='Image prompts',
                                      file_count='multiple',
                                      file_types=['image'], type='filepath',
                                      elem_id='prompt-input')
                thr = gr.Slider(0, 1, value=score_thr, step=0.01,
                                label='Score threshold', elem_id='score-thr')
                count = gr.Slider(1, max(100, max_dets), value=max_dets,
                                  step=1, label='Most detections',
                                  elem_id='max-dets')
                button = gr.Button('Detect', variant='primary',
                                   elem_id='detect')
            with gr.Column():
                result = gr.Image(label='Detections', type='numpy',
                                  format='png', interactive=False,
                                  elem_id='result-image')
                status = gr.Markdown(elem_id='status')
                download = gr.File(label='Detections (json)',
                                   interactive=False, elem_id='download')
                table = gr.JSON(label='Detections', elem_id='detections')

        def run(path, mode_, words_, thr_, count_, prompts_=None):
            drawn, message, dets, json_path = demo.detect(
                path, mode_, words_, float(thr_), int(count_), prompts_)
            return drawn, message, json_path, dets

        image.change(demo.preview, image, [preview, status])
        inputs = [image, mode, words, thr, count]
        if prompts is not None:
            inputs.append(prompts)
        button.click(run, inputs, [result, status, download, table],
                     concurrency_limit=1)
    return blocks


def launch(blocks, host: str = '127.0.0.1', port: int = 7860,
           open_browser: bool = False) -> None:
    """Serve the page until interrupted.

    Args:
        blocks (gr.Blocks): From :func:`build_blocks`.
        host (str): Address to listen on. Defaults to 127.0.0.1 (this
            machine only).
        port (int): Port. Defaults to 7860.
        open_browser (bool): Open it in a browser tab.
    """
    blocks.queue().launch(server_name=host, server_port=port,
                          inbrowser=open_browser, share=False,
                          theme=theme(), footer_links=['gradio'],
                          show_error=False)

