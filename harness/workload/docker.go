package workload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/moby/moby/client"
	"github.com/opencontainers/go-digest"
)

// LoadDocker loads img into the dockerd behind cli (POST /images/load) and
// checks the daemon then has the image under img.Ref with img.ID, since a
// load that partly fails still answers 200 with the error in its stream.
// Both of dockerd's image stores are checked exactly: the graph-driver
// store (dockerd before 29 by default) names an image by its config digest
// (img.ID); the containerd image store (docker 29's default) by its
// target, the manifest or index the archive's index.json names, and says
// so with the target's descriptor in the inspect answer.
func LoadDocker(ctx context.Context, cli *client.Client, img Image) error {
	if img.Tar == "" || img.Ref == "" {
		return fmt.Errorf("load %q into dockerd: image has no archive or ref (make it with Build or PackRootfs)", img.Name)
	}
	f, err := os.Open(img.Tar)
	if err != nil {
		return fmt.Errorf("load %s into dockerd: %w", img.Ref, err)
	}
	defer f.Close()
	res, err := cli.ImageLoad(ctx, f, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load %s into dockerd %s: %w", img.Ref, cli.DaemonHost(), err)
	}
	defer res.Close()
	if err := loadStreamError(res); err != nil {
		return fmt.Errorf("load %s into dockerd %s: %w", img.Ref, cli.DaemonHost(), err)
	}
	got, err := cli.ImageInspect(ctx, img.Ref)
	if err != nil {
		return fmt.Errorf("load %s into dockerd %s: loaded but not found: %w", img.Ref, cli.DaemonHost(), err)
	}
	if img.ID == "" || got.ID == img.ID {
		return nil
	}
	if got.Descriptor == nil {
		return fmt.Errorf("load %s into dockerd %s: daemon has image %s, archive's config is %s", img.Ref, cli.DaemonHost(), got.ID, img.ID)
	}
	targets, err := readArchiveTargets(img.Tar)
	if err != nil {
		return fmt.Errorf("load %s into dockerd %s: %w", img.Ref, cli.DaemonHost(), err)
	}
	if !slices.Contains(targets, digest.Digest(got.ID)) || got.Descriptor.Digest != digest.Digest(got.ID) {
		return fmt.Errorf("load %s into dockerd %s (containerd image store): daemon has image %s (target %s), archive's manifest or index is one of %v", img.Ref, cli.DaemonHost(), got.ID, got.Descriptor.Digest, targets)
	}
	return nil
}

// loadStreamError reads the daemon's JSON message stream to its end and
// returns the first error in it.
func loadStreamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Stream      string `json:"stream"`
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		err := dec.Decode(&msg)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading load response: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(strings.TrimSpace(msg.ErrorDetail.Message))
		}
		if msg.Error != "" {
			return errors.New(strings.TrimSpace(msg.Error))
		}
	}
}
