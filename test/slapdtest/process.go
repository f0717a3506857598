package slapdtest

import (
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is one slapd run in the foreground (-d).
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // result of Wait, set before done is closed
}

// startProcess starts path with args, its output going to out.
func startProcess(path string, args []string, out io.Writer) (*process, error) {
	cmd := exec.Command(path, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends sig and waits for the process to exit; after grace it kills
// it. It reports whether it had to kill.
func (p *process) stop(sig syscall.Signal, grace time.Duration) (killed bool) {
	_ = p.cmd.Process.Signal(sig) // fails only when the process has exited already
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return false
	case <-timer.C:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return true
}

// logBuffer collects slapd's output. It is safe for concurrent use and keeps
// the last maxLog bytes.
type logBuffer struct {
	mu      sync.Mutex
	buf     []byte
	written int64 // bytes ever written
}

// Write implements io.Writer.
func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	l.written += int64(len(p))
	if len(l.buf) > 2*maxLog {
		l.buf = append([]byte(nil), l.buf[len(l.buf)-maxLog:]...)
	}
	return len(p), nil
}

// note adds a line of our own.
func (l *logBuffer) note(line string) {
	_, _ = l.Write([]byte("--- " + line + "\n"))
}

// total returns how many bytes were ever written, a mark for since.
func (l *logBuffer) total() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.written
}

// since returns what was written after mark (as far as it is still kept).
func (l *logBuffer) since(mark int64) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(l.written-mark, int64(len(l.buf)))
	return string(l.buf[int64(len(l.buf))-n:])
}

// String returns the last maxLog bytes written.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) <= maxLog {
		return string(l.buf)
	}
	return "--- slapdtest: log truncated\n" + string(l.buf[len(l.buf)-maxLog:])
}
