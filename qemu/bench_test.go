package qemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postvault/postvault/gokrazy"
)

// BenchmarkBoot measures, in one run under TCG, power-on (QEMU started) to
//
//   - ref: the same kernel booting an initramfs whose Go init only prints
//     a line (and powers off): the floor any image pays;
//   - booted: the image's init after gokrazy.Boot ("postvault: booted");
//   - ready: the ready line of `postvault serve` on five data disks that
//     already hold the array (the second boot; the first one creates it),
//     when serve is part of the build;
//
// and reports each as a ratio to ref (goal for ready: at most 2x). Run:
//
//	go test -run '^$' -bench Boot -benchtime 1x ./qemu/
func BenchmarkBoot(b *testing.B) {
	needQEMU(b)
	image := testImage(b)
	var ref, booted, ready time.Duration
	for i := 0; i < b.N; i++ {
		res, err := RunGuest(context.Background(), &Guest{Timeout: 3 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		ref += res.Ready
		bt, rd, err := bootImage(b, image)
		if err != nil {
			b.Fatal(err)
		}
		booted += bt
		ready += rd
	}
	n := float64(b.N)
	b.ReportMetric(ref.Seconds()/n, "ref-s")
	b.ReportMetric(booted.Seconds()/n, "booted-s")
	b.ReportMetric(booted.Seconds()/ref.Seconds(), "booted/ref")
	if ready > 0 {
		b.ReportMetric(ready.Seconds()/n, "ready-s")
		b.ReportMetric(ready.Seconds()/ref.Seconds(), "ready/ref")
	}
}

// bootImage boots the image twice on five fresh disks and returns the time
// to the booted marker and to the ready line (0 without serve) of the
// second boot.
func bootImage(b *testing.B, image string) (booted, ready time.Duration, err error) {
	dir := b.TempDir()
	disks := make([]Disk, 5)
	for i := range disks {
		disks[i] = Disk{Path: filepath.Join(dir, fmt.Sprintf("disk%d.img", i)), Size: 256 << 20}
	}
	withServe := serveMissing(nil, image) == ""
	for boot := 0; boot < 2; boot++ {
		vm, err := New(&Options{Image: image, Disks: disks, Forwards: MailForwards()})
		if err != nil {
			return 0, 0, err
		}
		if err := vm.Start(); err != nil {
			return 0, 0, err
		}
		if _, err := vm.WaitFor(bootedRe, 3*time.Minute); err != nil {
			vm.Stop()
			return 0, 0, err
		}
		booted = time.Since(vm.Started())
		ready = 0
		if withServe {
			if _, err := vm.WaitFor(readyRe, 4*time.Minute); err != nil {
				vm.Stop()
				return 0, 0, err
			}
			ready = time.Since(vm.Started())
		}
		vm.Stop()
		if !withServe {
			break
		}
	}
	return booted, ready, nil
}

// BenchmarkImageSize builds the appliance image and reports its content
// (what dd writes) against the kernel alone.
func BenchmarkImageSize(b *testing.B) {
	needQEMU(b)
	image := testImage(b)
	dir := filepath.Dir(image)
	for i := 0; i < b.N; i++ {
		img, err := gokrazy.Build(context.Background(), filepath.Join(dir, "size.img"), &gokrazy.Options{
			Init: filepath.Join(dir, "init"), Programs: map[string]string{"postvault": filepath.Join(dir, "postvault")},
			TempDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		os.Remove(img.Path)
		b.ReportMetric(float64(img.Content)/(1<<20), "content-MiB")
		b.ReportMetric(float64(img.KernelSize)/(1<<20), "kernel-MiB")
		b.ReportMetric(float64(img.Content)/float64(img.KernelSize), "content/kernel")
	}
}
