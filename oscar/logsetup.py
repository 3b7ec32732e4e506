"""Process logging: one line per record to stderr, which supervisord writes to the log files."""

import logging
import os


def configure(process: str) -> None:
    logging.basicConfig(
        level=os.environ.get("OSCAR_LOG_LEVEL", "INFO").upper(),
        format=f"%(asctime)s {process}[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
