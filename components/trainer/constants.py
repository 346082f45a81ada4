"""Keys shared by the head trainer's component, executor and user-module contract."""

# `custom_config` key under which `HeadTrainer` stores its typed options (a JSON object).
OPTIONS_KEY = "head_trainer"

# Attributes of the user module (see `tfx_heads.components.trainer.component.HeadTrainer`).
BUILD_MODEL_FN = "build_model"
BUILD_OPTIMIZER_FN = "build_optimizer"
LABEL_KEYS_ATTR = "LABEL_KEYS"
RAW_LABEL_KEYS_ATTR = "RAW_LABEL_KEYS"
SERVING_FEATURE_KEYS_ATTR = "SERVING_FEATURE_KEYS"

# Execution properties naming the user module (those of TFX's Trainer).
MODULE_FILE_KEY = "module_file"
MODULE_PATH_KEY = "module_path"

# Files the trainer writes in the ModelRun directory beside the TensorBoard logs.
HISTORY_FILE = "history.json"
# The strategy, the replica count, the first and last training step (a resumed run starts
# above 0) and whether the steps were compiled with XLA.
TRAINING_STATE_FILE = "training.json"

DEFAULT_LEARNING_RATE = 1e-3
