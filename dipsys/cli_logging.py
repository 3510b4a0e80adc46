"""Console logging of a run: messages as prose, Lightning's start-up chatter silenced."""

from __future__ import annotations

import logging

#: Lightning loggers whose INFO lines say nothing about the decomposition: "GPU available",
#: "TPU available", tips and adverts, "`Trainer.fit` stopped", CUDA_VISIBLE_DEVICES
CHATTY_LOGGERS = (
    "pytorch_lightning.utilities.rank_zero",
    "pytorch_lightning.accelerators.cuda",
    "lightning.pytorch.utilities.rank_zero",
    "lightning.pytorch.accelerators.cuda",
)


class ConsoleFormatter(logging.Formatter):
    """INFO lines as the bare message; warnings and errors as ``warning: <message>``."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


def quiet_lightning() -> None:
    """Raise :data:`CHATTY_LOGGERS` to WARNING (their warnings still show)."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
