package main

const usage = `chaosdrill sets a chaos fault on a running llmops service, drives load at it,
clears the fault and reports how the service held up.

Usage:
  chaosdrill -mode MODE -target TARGET [flags]    drill with a fault
  chaosdrill -no-fault [flags]                    baseline without a fault

Example:
  LLMOPS_ADMIN_TOKEN=... chaosdrill -mode outage -target tool:web_search \
      -probability 1 -rate 20 -duration 30s -slo 0.99

Exit codes: 0 ok, 1 success ratio below -slo, 2 bad flags, 3 drill error
(unreachable, admin API refusal, fault not cleared), 130 interrupted.

Flags:
`
