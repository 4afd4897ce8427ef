"""Fault knobs of the simulated Azure side, set through the admin API (lab/azure/admin_routes.py).

Each knob is plain data read by the code path it disturbs: the ARM front door (429 storms,
5xx on job polls, latency through lab.http.ConnectionFaults), the job engine (a job failing
with a real service error code), the 202 of a Site Recovery mutation (its answer lost: the job
started, the client got a 5xx) and the providers (a host's provider disconnected, which
lives on the Provider itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.http import ConnectionFaults

# Service errors a job can fail with, as the service words them.
# 6001: enable_managed_disks.json entry 14 (verbatim). 70094/31389: MicrosoftDocs/azure-docs#68695
# (Hyper-V refused to enable replication: WMI job error 32768); wording paraphrased from that issue.
SERVICE_ERRORS: dict[str, dict] = {
    "6001": {
        "message": "Parameters are not correct.",
        "possibleCauses": "\n      Only one of the following input parameters are expected not both\n"
                          "      a) either storageAccountId\n      b) or useManagedDisksForReplication\n    ",
        "recommendedAction": "Provide the correct input parameters and retry the last action. "
                             "If the issue persists, contact Support.",
        "provider": {"errorCode": 0, "errorMessage": None, "possibleCauses": "", "recommendedAction": ""},
    },
    "70094": {
        "message": "Protection couldn't be enabled for the virtual machine.",
        "possibleCauses": "The Hyper-V host failed to enable replication for the virtual machine.",
        "recommendedAction": "Resolve the Hyper-V error on the host, then retry the operation.",
        "provider": {"errorCode": 31389,
                     "errorMessage": "Hyper-V failed to enable replication for the virtual machine "
                                     "(WMI job error 32768).",
                     "possibleCauses": "The virtual machine's Hyper-V replication settings could not be changed.",
                     "recommendedAction": "Check the Hyper-V-VMMS event log on the host."},
    },
}


@dataclass
class JobFailure:
    """Make the next job of a scenario (optionally for one VM) fail at a task with a code."""

    scenario: str
    code: str
    task: int = 0                  # index of the task that fails
    vm: str | None = None          # VM name or id; None = any
    remaining: int = 1             # how many jobs to fail


# The error a lost answer comes back as, by status: ARM's top-level codes for these statuses; the wording is the
# lab's (no recording has a 5xx from Site Recovery).
LOST_ANSWER_ERRORS: dict[int, tuple[str, str]] = {
    500: ("InternalServerError", "Encountered internal server error. Please try again."),
    502: ("BadGateway", "The gateway received an invalid response from 'Microsoft.RecoveryServices'."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Retry the request after some time."),
    504: ("GatewayTimeout", "The gateway did not receive a response from 'Microsoft.RecoveryServices' within the "
                            "specified time period."),
}


@dataclass
class LostAnswer:
    """The next mutation of a scenario (optionally for one VM) starts its job, but its client gets `status`."""

    scenario: str
    status: int = 503
    vm: str | None = None          # VM name or id; None = any
    remaining: int = 1             # how many answers to lose


def _take_for(planned: list, scenario: str, vm_names: tuple[str, ...]):
    """The first fault in `planned` for `scenario` and one of `vm_names` (or any VM), counted down and dropped when
    spent; None when none matches."""
    for fault in planned:
        if fault.scenario.lower() != scenario.lower():
            continue
        if fault.vm and fault.vm.lower() not in {n.lower() for n in vm_names if n}:
            continue
        fault.remaining -= 1
        if fault.remaining <= 0:
            planned.remove(fault)
        return fault
    return None


@dataclass
class AzureFaults:
    connection: ConnectionFaults = field(default_factory=ConnectionFaults)   # latency, resets
    storm_429: int = 0             # answer this many next ARM requests with 429
    storm_retry_after_s: float = 1.0
    poll_5xx: int = 0              # answer this many next job / operation polls with 5xx
    poll_5xx_status: int = 503
    job_failures: list[JobFailure] = field(default_factory=list)
    lost_answers: list[LostAnswer] = field(default_factory=list)
    # VM name (lowercase) -> factor on the length of every task of its jobs (a slow VM in a wave)
    job_seconds_factor: dict[str, float] = field(default_factory=dict)

    def seconds_factor(self, vm_names: tuple[str, ...]) -> float:
        return max([self.job_seconds_factor.get((name or "").lower(), 1.0) for name in vm_names] or [1.0])

    def take_job_failure(self, scenario: str, vm_names: tuple[str, ...]) -> JobFailure | None:
        return _take_for(self.job_failures, scenario, vm_names)

    def take_lost_answer(self, scenario: str, vm_names: tuple[str, ...]) -> LostAnswer | None:
        return _take_for(self.lost_answers, scenario, vm_names)

    def clear(self) -> None:
        self.connection.clear()
        self.storm_429 = 0
        self.poll_5xx = 0
        self.job_failures.clear()
        self.lost_answers.clear()
        self.job_seconds_factor.clear()

    def to_dict(self) -> dict:
        return {"latency_ms": round(self.connection.latency_s * 1000),
                "reset_after_requests": self.connection.reset_after_requests,
                "storm_429": self.storm_429, "storm_retry_after_s": self.storm_retry_after_s,
                "poll_5xx": self.poll_5xx, "poll_5xx_status": self.poll_5xx_status,
                "job_failures": [vars(f).copy() for f in self.job_failures],
                "lost_answers": [vars(f).copy() for f in self.lost_answers],
                "job_seconds_factor": dict(self.job_seconds_factor)}
