package gokrazy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// GoBuild cross-compiles the Go package pkg (e.g. "./firmware/cmd/init")
// of the module in dir ("" for the current directory) into a static
// linux/amd64 binary at out, the way the image wants it: CGO_ENABLED=0,
// -trimpath, stripped, no build ID, so that the same sources give the same
// bytes.
func GoBuild(ctx context.Context, dir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gokrazy: go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// GoTestBuild compiles the tests of package pkg into a static linux/amd64
// test binary at out (go test -c), for running inside a QEMU guest.
func GoTestBuild(ctx context.Context, dir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gokrazy: go test -c %s: %v\n%s", pkg, err, b)
	}
	return nil
}
