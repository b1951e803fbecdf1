package probe

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// keptDir is a process' /proc/<pid>/fd directory held open, for counting
// the process' open fds at every sample.
//
// Since Linux 6.2 the directory's stat reports the count as its size
// (proc_fd_getattr counts the set bits of the fd table's open_fds bitmap):
// exact, and one fstat on the held descriptor. On older kernels the size is
// 0 and the directory is listed instead, from the start of the held
// descriptor. A size of 0 on a new kernel means no open fds, which the
// listing confirms; that costs only processes with no fds, never a daemon.
type keptDir struct {
	path string
	fd   int
	buf  []byte
}

func openKeptDir(path string) (*keptDir, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &keptDir{path: path, fd: fd}, nil
}

// count returns the number of entries, "." and ".." not counted.
func (d *keptDir) count() (int, error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return 0, &os.PathError{Op: "fstat", Path: d.path, Err: err}
	}
	if st.Size > 0 {
		return int(st.Size), nil
	}
	return d.list()
}

// list counts the entries by reading the directory from its start.
func (d *keptDir) list() (int, error) {
	if _, err := unix.Seek(d.fd, 0, io.SeekStart); err != nil {
		return 0, &os.PathError{Op: "seek", Path: d.path, Err: err}
	}
	if d.buf == nil {
		d.buf = make([]byte, 8192)
	}
	n := 0
	for {
		m, err := unix.ReadDirent(d.fd, d.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "getdents", Path: d.path, Err: err}
		}
		if m <= 0 {
			return n, nil
		}
		n += countDirents(d.buf[:m])
	}
}

// countDirents counts the linux_dirent64 records in buf, "." and ".."
// not counted.
func countDirents(buf []byte) int {
	_, n, _ := unix.ParseDirent(buf, -1, nil)
	return n
}

func (d *keptDir) close() {
	if d != nil && d.fd >= 0 {
		_ = unix.Close(d.fd)
		d.fd = -1
	}
}
