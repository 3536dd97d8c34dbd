"""The Spark engine: the same pipeline as the DuckDB engine, on PySpark DataFrames.

pyspark is an optional extra (``pip install newstrace[spark]``) and needs Java 17+;
it is imported only inside this package. The engine calls the very same
tokeniser, fingerprints and compiled aligner as the DuckDB engine (through
``mapInPandas``), and writes one Parquet folder per table that
``newstrace load-parquet`` turns into a normal newstrace database.

>>> from newstrace.spark import get_spark, run_pipeline     # doctest: +SKIP
>>> spark = get_spark("local[2]")                           # doctest: +SKIP
>>> run_pipeline(spark, "articles.jsonl", "out/")           # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from newstrace.errors import UserError

#: Defaults for a local session; anything passed to ``get_spark(conf=...)`` overrides them.
LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "2000",
    "spark.sql.adaptive.enabled": "true",
    "spark.driver.memory": "4g",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.python.worker.reuse": "true",
    "spark.log.level": "WARN",
}


def unavailable_reason() -> str | None:
    """Why the Spark engine cannot run here (no pyspark, no Java), or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install 'newstrace[spark]')"
    try:
        import pandas  # noqa: F401
    except ImportError:
        return "pandas is not installed (pip install 'newstrace[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.path.exists(os.path.join(java_home, "bin", "java"))) and not shutil.which(
        "java"
    ):
        return "no Java runtime found (install Java 17+ or set JAVA_HOME)"
    return None


def get_spark(master: str = "local[2]", conf: dict[str, str] | None = None, app_name: str = "newstrace") -> Any:
    """A SparkSession for the engine (created, or the active one reconfigured).

    Python workers run this interpreter (``PYSPARK_PYTHON``), so they import the
    same newstrace. On a cluster, pass ``master`` as given to ``spark-submit``.

    Raises:
        UserError: pyspark or Java is missing.
    """
    reason = unavailable_reason()
    if reason:
        raise UserError(f"Spark engine unavailable: {reason}")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    settings = dict(LOCAL_CONF) if not master or master.startswith("local") else {
        k: v for k, v in LOCAL_CONF.items() if k != "spark.driver.memory"
    }
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as ex:  # JVM failed to start: one line, not a Java stack trace
        raise UserError(f"cannot start Spark ({master}): {str(ex).splitlines()[0]}") from None
    spark.sparkContext.setLogLevel("WARN")
    return spark


def run_pipeline(*args: Any, **kwargs: Any) -> Any:
    """See ``newstrace.spark.jobs.run_pipeline``."""
    from newstrace.spark.jobs import run_pipeline as _run

    return _run(*args, **kwargs)


def load_parquet(*args: Any, **kwargs: Any) -> Any:
    """See ``newstrace.spark.load.load_parquet`` (needs only DuckDB, not pyspark)."""
    from newstrace.spark.load import load_parquet as _load

    return _load(*args, **kwargs)


__all__ = ["get_spark", "load_parquet", "run_pipeline", "unavailable_reason", "LOCAL_CONF"]
