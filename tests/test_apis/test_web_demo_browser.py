"""The web demo in a real browser: headless Chromium through chromedriver.

Starts ``demo/web_demo.py`` on 127.0.0.1 with a tiny RegionCLIP built here,
uploads a synthetic image, types words, sets the threshold, clicks Detect
and checks the drawn image and the json the page offers. Saves a screenshot
to work_dirs/web_demo/browser_test.png. Without Chromium, chromedriver or
selenium the test is skipped, and fails under ``CI=true``.
"""
import json
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import cv2
import numpy as np
import pytest
from conftest import REPO

from mmregion.apis.tiny_demo_model import make_tiny_regionclip
from mmregion.synthetic import ShapesConfig, generate_shapes_dataset

WORDS = ('kite', 'balloon')
CHROME_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu',
                '--disable-quic', '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update', '--disable-sync',
                '--window-size=1400,1100')
DRIVER_PATHS = ('/usr/lib/chromium/chromedriver', )
SCREENSHOT = osp.join(REPO, 'work_dirs', 'web_demo', 'browser_test.png')


def _browser():
    """(chromium, chromedriver) paths; skip (fail under CI) without them."""
    chromium = next((shutil.which(n) for n in ('chromium', 'chromium-browser',
                                               'google-chrome')
                     if shutil.which(n)), None)
    driver = shutil.which('chromedriver') or next(
        (p for p in DRIVER_PATHS if osp.isfile(p)), None)
    try:
        import selenium  # noqa: F401
        missing = []
    except ImportError:
        missing = ['selenium (pip install -e .[web])']
    missing += [] if chromium else ['chromium']
    missing += [] if driver else ['chromedriver']
    if missing:
        reason = (f'the browser test needs {", ".join(missing)}: run '
                  f'tools/setup_env.sh as root (apt-get install chromium '
                  f'chromium-driver)')
        if os.environ.get('CI') == 'true':
            pytest.fail(reason)
        pytest.skip(reason)
    return chromium, driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _wait_for_server(proc, url: str, log: str, timeout: float = 150):
    start = time.time()
    while time.time() - start < timeout:
        if proc.poll() is not None:
            pytest.fail(f'the web demo exited with {proc.returncode}:\n'
                        f'{open(log).read()[-3000:]}')
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f'the web demo did not answer at {url} in {timeout} s:\n'
                f'{open(log).read()[-3000:]}')


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read()


def _set_number(driver, elem_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    box = driver.find_element(By.CSS_SELECTOR,
                              f'#{elem_id} input[type=number]')
    box.send_keys(Keys.CONTROL, 'a')
    box.send_keys(value, Keys.TAB)


@pytest.fixture
def server(tmp_path):
    """The demo serving a tiny RegionCLIP; yields (url, upload image)."""
    _browser()
    files = make_tiny_regionclip(str(tmp_path))
    generate_shapes_dataset(
        str(tmp_path / 'shapes'), dict(val=1), seed=3,
        cfg=ShapesConfig(img_size=(256, 256), min_objects=3, max_objects=3))
    image = str(tmp_path / 'shapes' / 'val' / '000000.png')
    port = _free_port()
    log = str(tmp_path / 'server.log')
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False',
               PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    with open(log, 'w') as out:
        proc = subprocess.Popen(
            [sys.executable, osp.join(REPO, 'demo', 'web_demo.py'),
             files['config'], '--weights', files['weights'], '--port',
             str(port), '--templates', 'simple', '--out-dir',
             str(tmp_path / 'json')],
            cwd=str(tmp_path), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f'http://127.0.0.1:{port}/'
        _wait_for_server(proc, url, log)
        yield url, image
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def browser(server):
    """Headless Chromium with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    chromium, driver_path = _browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix='mmregion_chromium_')
    for flag in CHROME_FLAGS + (f'--user-data-dir={profile}', ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_upload_type_words_detect_in_chromium(server, browser):
    try:
        _drive(server, browser)
    except Exception:
        os.makedirs(osp.dirname(SCREENSHOT), exist_ok=True)
        browser.save_screenshot(SCREENSHOT.replace('.png', '_failed.png'))
        print(browser.find_element('tag name', 'body').text)
        raise


def _drive(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    url, image_path = server
    bad_path = osp.join(osp.dirname(osp.dirname(image_path)), 'broken.png')
    with open(bad_path, 'wb') as f:
        f.write(b'this is no png')
    wait = WebDriverWait(browser, 120)
    browser.get(url)
    wait.until(EC.element_to_be_clickable((By.ID, 'detect')))
    assert 'RegionCLIP, open-vocabulary' in browser.find_element(
        By.TAG_NAME, 'body').text

    upload = browser.find_element(By.CSS_SELECTOR,
                                  '#image-input input[type=file]')
    upload.send_keys(bad_path)  # an unreadable upload: a message, no crash
    wait.until(EC.text_to_be_present_in_element(
        (By.ID, 'status'), 'Cannot read broken.png as an image'))
    browser.find_element(By.CSS_SELECTOR,
                         '#image-input button[aria-label=Clear]').click()
    wait.until(lambda d: not d.find_element(By.ID, 'status').text)
    browser.find_element(By.CSS_SELECTOR,
                         '#image-input input[type=file]').send_keys(
                             image_path)
    wait.until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, '#input-preview img')))
    # the page shows the name as '000000' and '.png' in separate elements
    wait.until(EC.text_to_be_present_in_element((By.ID, 'image-input'),
                                                '000000'))
    words = browser.find_element(By.CSS_SELECTOR, '#words textarea')
    words.send_keys(' . '.join(WORDS))
    _set_number(browser, 'score-thr', '0')
    _set_number(browser, 'max-dets', '5')
    assert browser.find_element(
        By.CSS_SELECTOR, '#score-thr input[type=range]').get_attribute(
            'value') == '0'
    browser.find_element(By.ID, 'detect').click()
    wait.until(EC.text_to_be_present_in_element((By.ID, 'status'),
                                                'detections'))
    status = browser.find_element(By.ID, 'status').text
    assert status.startswith('5 detections (score >= 0, at most 5) of 2 '
                             'classes in '), status
    drawn_url = wait.until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, '#result-image img'))).get_attribute('src')
    json_url = wait.until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, '#download a[href]'))).get_attribute('href')
    os.makedirs(osp.dirname(SCREENSHOT), exist_ok=True)
    browser.save_screenshot(SCREENSHOT)

    drawn = cv2.imdecode(np.frombuffer(_fetch(drawn_url), np.uint8),
                         cv2.IMREAD_COLOR)
    original = cv2.imread(image_path)
    assert drawn.shape == original.shape
    assert np.abs(drawn.astype(int) - original.astype(int)).mean() > 1
    result = json.loads(_fetch(json_url))
    assert result['classes'] == list(WORDS)
    assert len(result['detections']) == 5
    assert {d['label'] for d in result['detections']} <= set(WORDS)
    assert all(len(d['bbox']) == 4 and 'mask' in d
               for d in result['detections'])


def test_a_missing_browser_fails_under_ci_and_is_skipped_elsewhere(
        monkeypatch):
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    monkeypatch.setattr(sys.modules[__name__], 'DRIVER_PATHS', ())
    monkeypatch.setenv('CI', 'true')
    with pytest.raises(pytest.fail.Exception,
                       match='needs chromium, chromedriver: run '
                       'tools/setup_env.sh as root'):
        _browser()
    monkeypatch.delenv('CI')
    with pytest.raises(pytest.skip.Exception, match='needs chromium'):
        _browser()
