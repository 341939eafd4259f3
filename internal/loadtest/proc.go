package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is the unit of CPU times in /proc/<pid>/stat; Linux fixes it
// at 100 per second for user space.
const clockTicks = 100

// ProcStats is a process's resource use, read from /proc.
type ProcStats struct {
	// CPU is user plus system CPU time, in seconds.
	CPU float64
	// RSS is the resident set now, PeakRSS the highest it has been; bytes.
	RSS, PeakRSS int64
}

// ReadProc reads a process's CPU time and memory from /proc (Linux).
func ReadProc(pid int) (ProcStats, error) {
	var s ProcStats
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	cpu, ok := statCPU(stat)
	if !ok {
		return s, fmt.Errorf("short /proc/%d/stat", pid)
	}
	s.CPU = cpu

	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			s.RSS = kb << 10
		case "VmHWM":
			s.PeakRSS = kb << 10
		}
	}
	return s, sc.Err()
}

// statCPU is the user plus system CPU time, in seconds, of a
// /proc/<pid>/stat; false if the file is short.
func statCPU(stat []byte) (float64, bool) {
	// The command name (field 2) may hold spaces; fields after it are fixed.
	rest := stat[bytes.LastIndexByte(stat, ')')+2:]
	fields := strings.Fields(string(rest))
	if len(fields) < 13 {
		return 0, false
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks, true
}

// CommandCPU sums the CPU time, in seconds, of the running processes whose
// command is name: a database server's, whose work for callplane happens in
// processes of its own.
func CommandCPU(name string) float64 {
	entries, _ := os.ReadDir("/proc")
	total := 0.0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if open < 0 || end < open || string(stat[open+1:end]) != name {
			continue
		}
		// Parsed from the stat just read: only the CPU time is wanted.
		if cpu, ok := statCPU(stat); ok {
			total += cpu
		}
	}
	return total
}
