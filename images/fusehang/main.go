// Command fusehang serves the hung FUSE filesystem of
// harness/fault/fusehang from inside a sidecar container, the shape of a CSI
// node plugin whose FUSE daemon stops answering: reads of <dir>/<file> are
// held until the sidecar gets SIGUSR1 (release, keep serving) or SIGTERM /
// SIGINT (release, unmount, exit).
//
// Run it with --device /dev/fuse --cap-add SYS_ADMIN and the host directory
// bound with bind-propagation=rshared (see fusehang.MakeShared); the reader
// container binds the same host directory with rslave. It prints "ready" on
// stdout once the mount serves.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/relapse-dev/relapse/harness/fault/fusehang"
)

func main() {
	dir := flag.String("dir", envOr("FUSEHANG_DIR", "/mnt/hang"), "mount point (env FUSEHANG_DIR)")
	file := flag.String("file", envOr("FUSEHANG_FILE", fusehang.DefaultFile), "name of the hanging file (env FUSEHANG_FILE)")
	flag.Parse()
	if flag.NArg() != 0 {
		log.Fatalf("fusehang: unexpected arguments %q; use -dir and -file", flag.Args())
	}
	if err := run(*dir, *file); err != nil {
		log.Fatalf("fusehang: %v", err)
	}
}

func run(dir, file string) error {
	// Subscribe before mounting so a signal sent right after "ready" is not lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	h, err := fusehang.Mount(ctx, dir, fusehang.Options{File: file, Logf: log.Printf})
	cancel()
	if err != nil {
		return err
	}
	fmt.Printf("ready %s (fuse connection %d)\n", h.Path(), h.Conn())

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	last := -1
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGUSR1 {
				h.Release()
				log.Printf("fusehang: released (%v); still serving", s)
				continue
			}
			log.Printf("fusehang: %v: releasing and unmounting", s)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			return h.Close(ctx)
		case <-tick.C:
			if n := h.Blocked(); n != last {
				log.Printf("fusehang: %d reads held", n)
				last = n
			}
		}
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
