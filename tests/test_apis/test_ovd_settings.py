"""Fine-tuning recipes of the synthetic OVD experiment."""
import pytest

from mmregion.apis.ovd_experiment import FINETUNE_CONFIG
from mmregion.apis.ovd_settings import FINETUNE_RECIPES
from mmregion.apis.runner import load_config


@pytest.mark.parametrize('name', sorted(FINETUNE_RECIPES))
def test_recipes_apply_to_the_finetuning_config(name):
    cfg = load_config(FINETUNE_CONFIG, FINETUNE_RECIPES[name])
    frozen = name == 'frozen'
    # the frozen recipe cannot learn the background: objectness scores it
    assert cfg.model.roi_head.get('use_objectness', False) is frozen
    assert cfg.model.backbone.frozen_stages == {
        'config': -1, 'regionclip': 1, 'frozen': 4}[name]
