//go:build !unix

package sli

import "time"

func processCPUTime() (time.Duration, bool) { return 0, false }
