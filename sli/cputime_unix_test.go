//go:build unix

package sli

import (
	"syscall"
	"time"
)

// processCPUTime returns the user+system CPU time of this process. Unlike
// wall time it does not grow while the process waits for a CPU, so
// cpu-ns/op stays meaningful on a shared, loaded machine.
func processCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
