"""Long-running tasks: Task, its results and errors, and executors that run them in the background."""

from gfs_runtime.tasks.executor import NoopTaskObserver, TaskExecutor, TaskObserver, TaskOutcome
from gfs_runtime.tasks.results import (
    ArrowData,
    DataLease,
    FlightDataTaskResult,
    ListFlightsTaskResult,
    OnCloseCallback,
    TaskExecutionResult,
    TaskResult,
)
from gfs_runtime.tasks.task import Task
from gfs_runtime.tasks.task_error import TaskError, TaskWaitTimeoutError
from gfs_runtime.tasks.thread_executor import ThreadTaskExecutor

__all__ = [
    "ArrowData",
    "DataLease",
    "FlightDataTaskResult",
    "ListFlightsTaskResult",
    "NoopTaskObserver",
    "OnCloseCallback",
    "Task",
    "TaskError",
    "TaskExecutionResult",
    "TaskExecutor",
    "TaskObserver",
    "TaskOutcome",
    "TaskResult",
    "TaskWaitTimeoutError",
    "ThreadTaskExecutor",
]
