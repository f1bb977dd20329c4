"""`migready run job.yaml`: collect or import every pool, check, report, compare, e-mail.

Meant for cron and systemd timers: one job file says everything, one run does everything,
and nothing a run does can lose what an earlier run knew. By concept:

- `config`: the job file, read and validated, and what --dry-run shows;
- `run`: one run, its outcome and the summary the CLI prints;
- `state`: the state directory, its lock and each check's last results, replaced all at once;
- `folders`: the dated run folders, their run.json status, and `keep`;
- `mail`: the e-mail of a run.
"""

from checker.job.config import Job, describe_job, load_job
from checker.job.run import JobOutcome, format_outcome, run_job
from checker.job.state import LockedError

__all__ = ["Job", "JobOutcome", "LockedError", "describe_job", "format_outcome", "load_job",
           "run_job"]
