package qemu

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/postvault/postvault/gokrazy"
)

var (
	imageOnce sync.Once
	imagePath string
	imageErr  error
	imageDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if imageDir != "" {
		os.RemoveAll(imageDir)
	}
	os.Exit(code)
}

// needQEMU skips the test when QEMU cannot run here or in -short mode.
func needQEMU(t testing.TB) {
	t.Helper()
	if os.Getenv("POSTVAULT_QEMU_GUEST") == "1" {
		t.Skip("inside a guest: no nested VMs")
	}
	if err := Available(); err != nil {
		t.Skipf("skipping VM test: %v", err)
	}
	if testing.Short() {
		t.Skip("skipping VM test in -short mode")
	}
}

// testImage builds the appliance image (the image init and postvault from
// this module) once per test binary and returns its path.
func testImage(t testing.TB) string {
	t.Helper()
	needQEMU(t)
	if err := gokrazy.MissingTools(); err != nil {
		t.Skipf("skipping image test: %v", err)
	}
	imageOnce.Do(func() {
		imageDir, imageErr = os.MkdirTemp("", "postvault-qemu-test-")
		if imageErr != nil {
			return
		}
		ctx := context.Background()
		initBin := filepath.Join(imageDir, "init")
		pv := filepath.Join(imageDir, "postvault")
		if imageErr = gokrazy.GoBuild(ctx, "", "github.com/postvault/postvault/firmware/cmd/init", initBin); imageErr != nil {
			return
		}
		if imageErr = gokrazy.GoBuild(ctx, "", "github.com/postvault/postvault/firmware/cmd/postvault", pv); imageErr != nil {
			return
		}
		imagePath = filepath.Join(imageDir, "postvault.img")
		_, imageErr = gokrazy.Build(ctx, imagePath, &gokrazy.Options{
			Init: initBin, Programs: map[string]string{"postvault": pv}, TempDir: imageDir,
			Cmdline: VMCmdline}) // for the UEFI boots
	})
	if imageErr != nil {
		t.Fatalf("building the image: %v", imageErr)
	}
	return imagePath
}

// dumpOnFailure prints the VM's console if the test failed.
func dumpOnFailure(t *testing.T, vm *VM) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("QEMU: %q", vm.Args())
			t.Logf("serial console:\n%s", vm.Serial())
		}
	})
}
