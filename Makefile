# mmregion: set-up, demo and tests. `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= data/shapes
DEMO_CONFIG ?= configs/synthetic/mask-rcnn_resnetse50-tiny_fpn_shapes.py
DEMO_DIR ?= work_dirs/demo
PYTEST_ARGS ?=

.PHONY: help setup data demo yolact ovd-experiment ovd-seeds lint test

help:
	@echo "make setup  build the pinned stack into $(VENV) (idempotent)"
	@echo "make demo   set up, generate $(DATA), train + evaluate the ResNetSE Mask R-CNN demo"
	@echo "make yolact set up, generate $(DATA), train + evaluate YOLACT on it"
	@echo "make ovd-experiment  tiny CLIP -> RegionCLIP pretraining -> OVD fine-tuning, AP50 table"
	@echo "make ovd-seeds       the same on the ovd testbed, 3 seeds, mean/std (docs/ovd_experiment.md)"
	@echo "make lint   ruff: pyflakes, pycodestyle, import order (as pre-commit)"
	@echo "make test   set up and run the test suite"

setup:
	@bash tools/setup_env.sh

$(DATA)/meta.json:
	$(PY) tools/misc/make_synthetic.py $(DATA)

data: setup $(DATA)/meta.json

demo: setup
	@set -euo pipefail; start=$$(date +%s); \
	$(MAKE) --no-print-directory $(DATA)/meta.json; \
	echo "[demo] training $(DEMO_CONFIG) -> $(DEMO_DIR)"; \
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR); \
	ckpt=$$(cat $(DEMO_DIR)/last_checkpoint); \
	echo "[demo] evaluating $$ckpt and drawing predictions"; \
	$(PY) tools/test.py $(DEMO_CONFIG) $$ckpt --work-dir $(DEMO_DIR) --show-dir vis; \
	vis=$$(ls -td $(DEMO_DIR)/*/vis | head -1); \
	echo "[demo] $$(ls $$vis | wc -l) visualised predictions (ground truth | prediction) in $$vis"; \
	echo "[demo] done in $$(( $$(date +%s) - start ))s (after set-up)"

yolact: setup
	@set -euo pipefail; start=$$(date +%s); \
	$(MAKE) --no-print-directory $(DATA)/meta.json; \
	$(PY) tools/train.py configs/synthetic/yolact_r50-tiny_shapes.py --work-dir work_dirs/yolact_shapes; \
	echo "[yolact] done in $$(( $$(date +%s) - start ))s (after set-up)"

ovd-experiment: setup
	@$(MAKE) --no-print-directory $(DATA)/meta.json
	$(PY) tools/misc/run_ovd_experiment.py --data-root $(DATA) --work-dir work_dirs/ovd_experiment

ovd-seeds: setup
	$(PY) tools/misc/run_ovd_experiment.py --preset ovd --seeds 0 1 2 \
		--data-root data/shapes_ovd --work-dir work_dirs/ovd_seeds \
		--runs CLIP RegionCLIP random --diagnostics val \
		--clip-corpus images=2000 object_centric=1.0 --clip-positives \
		--clip-epochs 40 --min-freq 50 \
		--offline-rpn-epochs 6 --rpn-regions 20 \
		--pretrain-recipe grounded --pretrain-iters 600 \
		--finetune-epochs 12 --finetune-recipe quality

lint: setup
	$(VENV)/bin/ruff check .

test: setup
	$(PY) -m pytest tests $(PYTEST_ARGS)
