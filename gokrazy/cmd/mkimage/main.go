// Command mkimage packs a Go init, Go programs and the gokrazy kernel into a
// flashable postvault disk image (see package gokrazy for the layout):
//
//	mkimage -o build/postvault.img -init build/image/init \
//		-program postvault=build/image/postvault
//
// The binaries must already be built for linux/amd64 (CGO_ENABLED=0). It
// prints the image's size, its content (what dd really writes) and the
// kernel's size for comparison.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/postvault/postvault/gokrazy"
)

type programs map[string]string

func (p programs) String() string { return fmt.Sprint(map[string]string(p)) }

func (p programs) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return errors.New("want NAME=PATH")
	}
	p[name] = path
	return nil
}

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	o := gokrazy.Options{Programs: programs{}}
	out := fs.String("o", "build/postvault.img", "output image")
	fs.StringVar(&o.Init, "init", "", "linux/amd64 init binary (required)")
	fs.Var(programs(o.Programs), "program", "NAME=PATH: install PATH as /user/NAME (repeatable)")
	fs.StringVar(&o.Kernel, "kernel", "", "kernel bzImage (default: github.com/gokrazy/kernel.amd64's vmlinuz)")
	fs.StringVar(&o.SystemdBoot, "systemd-boot", "", "systemd-bootx64.efi (default: Debian's)")
	fs.StringVar(&o.Hostname, "hostname", "", "host name (default postvault)")
	fs.StringVar(&o.Cmdline, "cmdline", "", "extra kernel command line arguments")
	fs.StringVar(&o.Seed, "seed", "", "seed of the disk and partition GUIDs (default postvault)")
	bootMiB := fs.Int64("boot-mib", gokrazy.DefaultBootSize>>20, "boot partition size in MiB")
	rootMiB := fs.Int64("root-mib", gokrazy.DefaultRootSize>>20, "size of each root partition in MiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || o.Init == "" {
		fs.Usage()
		return errors.New("usage: mkimage -o IMAGE -init BINARY [-program NAME=PATH]...")
	}
	o.BootSize, o.RootSize = *bootMiB<<20, *rootMiB<<20
	img, err := gokrazy.Build(context.Background(), *out, &o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %.1f MiB image, %.1f MiB content (kernel alone %.1f MiB, %.2fx)\n",
		img.Path, mib(img.Size), mib(img.Content), mib(img.KernelSize), float64(img.Content)/float64(img.KernelSize))
	for _, p := range img.Partitions {
		fmt.Fprintf(w, "  %-7s PARTUUID=%s at %5.0f MiB, %6.1f of %4.0f MiB used\n",
			p.Name, strings.ToLower(p.GUID), mib(p.Start), mib(p.Used), mib(p.Size))
	}
	fmt.Fprintf(w, "  cmdline: %s\n", img.Cmdline)
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
