package workload

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
)

// PackRootfs wraps a root filesystem tarball (uncompressed or gzip, e.g. a
// debootstrap chroot tarred up) as the single layer of an image archive in
// the same format Build writes, for images that are not static Go programs.
// The archive is written next to rootfsTar as <name>.image.tar and reused
// (Cached set) while the rootfs file and config are unchanged.
func PackRootfs(ctx context.Context, rootfsTar, name string, config ImageConfig) (Image, error) {
	if !namePattern.MatchString(name) {
		return Image{}, fmt.Errorf("pack rootfs: image name %q: want a lower-case name", name)
	}
	if len(config.Entrypoint) == 0 && len(config.Cmd) == 0 {
		return Image{}, fmt.Errorf("pack rootfs %s: config has neither Entrypoint nor Cmd: a container would have nothing to run", name)
	}
	abs, err := filepath.Abs(rootfsTar)
	if err != nil {
		return Image{}, fmt.Errorf("pack rootfs %s: %w", name, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return Image{}, fmt.Errorf("pack rootfs %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return Image{}, fmt.Errorf("pack rootfs %s: %s is not a regular file (want a tar of the root filesystem)", name, abs)
	}
	img := Image{Name: name, Ref: ImageRef(name), Tar: filepath.Join(filepath.Dir(abs), name+".image.tar")}

	// The key is cheap on purpose (no hash of a 200 MB file): the rootfs'
	// identity by size and mtime, plus the config and the archive format.
	cfgJSON, err := json.Marshal(config)
	if err != nil {
		return Image{}, fmt.Errorf("pack rootfs %s: %w", name, err)
	}
	kh := sha256.New()
	fmt.Fprintf(kh, "%s\n%s\n%d %d\n%s\n", archiveFormat, abs, st.Size(), st.ModTime().UnixNano(), cfgJSON)
	key := hex.EncodeToString(kh.Sum(nil))
	keyFile := img.Tar + ".key"
	if old, err := os.ReadFile(keyFile); err == nil && strings.TrimSpace(string(old)) == key {
		if id, ref, err := readArchiveID(img.Tar); err == nil && ref == img.Ref {
			img.ID, img.Cached = id.String(), true
			return img, nil
		}
	}
	_ = os.Remove(keyFile)

	layer, err := rootfsLayer(ctx, abs)
	if err != nil {
		return Image{}, fmt.Errorf("pack rootfs %s: %w", name, err)
	}
	id, err := writeArchive(img.Tar, img.Ref, config, layer)
	if err != nil {
		return Image{}, fmt.Errorf("pack rootfs %s: %w", name, err)
	}
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o644); err != nil {
		return Image{}, fmt.Errorf("pack rootfs %s: %w", name, err)
	}
	img.ID = id.String()
	return img, nil
}

// rootfsLayer checks that p is a tar (optionally gzip) and digests its
// uncompressed stream, which is the layer's diff_id and blob digest: layers
// are stored uncompressed so no one has to agree on gzip bytes.
func rootfsLayer(ctx context.Context, p string) (layerSource, error) {
	open := func() (io.ReadCloser, error) { return openMaybeGzip(p) }
	rc, err := open()
	if err != nil {
		return layerSource{}, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) {
		return layerSource{}, fmt.Errorf("%s: %w", p, err)
	}
	if len(head) < 512 || !bytes.HasPrefix(head[257:], []byte("ustar")) {
		return layerSource{}, fmt.Errorf("%s is not a tar archive (no ustar header): want an uncompressed or gzip tar of the root filesystem", p)
	}
	d := digest.SHA256.Digester()
	n, err := io.Copy(d.Hash(), ctxReader{ctx, br})
	if err != nil {
		return layerSource{}, fmt.Errorf("%s: %w", p, err)
	}
	return layerSource{open: open, digest: d.Digest(), size: n}, nil
}

// openMaybeGzip opens p, decompressing it when it starts with gzip's magic.
func openMaybeGzip(p string) (io.ReadCloser, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, f}, nil
	case n == 4 && bytes.Equal(magic[:], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		f.Close()
		return nil, fmt.Errorf("%s is zstd-compressed: give an uncompressed or gzip tar", p)
	}
	return f, nil
}

// ctxReader stops a long read when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
