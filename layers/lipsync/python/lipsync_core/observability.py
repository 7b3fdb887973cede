"""Powertools Logger, Tracer and Metrics for every function, and the decorator Step Functions
task handlers share: job id as correlation id, traced, metrics flushed, the event parsed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

logger = Logger()
tracer = Tracer()
metrics = Metrics()

Model = TypeVar("Model", bound=BaseModel)


class PowertoolsMetricsSink:
    """``lipsync_core.jobs.domain.metrics.MetricsSink`` over Powertools Metrics."""

    def add_metric(self, name: str, unit: str, value: float) -> None:
        # Powertools does not clear metrics while they are disabled (locally), so they would pile up
        # and be printed when 100 accumulate: add nothing then.
        if not is_metrics_disabled():
            metrics.add_metric(name=name, unit=unit, value=value)


metric_sink = PowertoolsMetricsSink()


def workflow_task(
    model: type[Model],
) -> Callable[[Callable[[Model, LambdaContext], Any]], Callable[[dict[str, Any], LambdaContext], Any]]:
    """Wrap a Step Functions task handler ``(parsed state, context) -> answer``."""

    def decorate(
        function: Callable[[Model, LambdaContext], Any],
    ) -> Callable[[dict[str, Any], LambdaContext], Any]:
        parsed = event_parser(model=model)(function)
        return logger.inject_lambda_context(correlation_id_path="job_id")(
            tracer.capture_lambda_handler(metrics.log_metrics(parsed))
        )

    return decorate
