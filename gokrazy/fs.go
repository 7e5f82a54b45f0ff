package gokrazy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// makeBoot writes the FAT boot/EFI partition's file system to out.
func makeBoot(ctx context.Context, out, work string, o *Options, cmdline string) error {
	stage := filepath.Join(work, "boot")
	files := map[string]string{ // path in the FAT -> host file
		"EFI/BOOT/BOOTX64.EFI": o.SystemdBoot,
		"vmlinuz":              o.Kernel,
	}
	texts := map[string]string{
		"loader/loader.conf":            "default postvault.conf\ntimeout 0\nconsole-mode keep\n",
		"loader/entries/postvault.conf": "title postvault\nlinux /vmlinuz\noptions " + cmdline + "\n",
		"cmdline.txt":                   cmdline + "\n",
	}
	for name, text := range texts {
		p := filepath.Join(stage, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("gokrazy: %w", err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return fmt.Errorf("gokrazy: %w", err)
		}
		if err := os.Chtimes(p, o.Epoch, o.Epoch); err != nil { // mcopy -m keeps it
			return fmt.Errorf("gokrazy: %w", err)
		}
		files[name] = p
	}
	sum := sha256.Sum256([]byte("postvault-image/" + o.Seed + "/fat"))
	volid := fmt.Sprintf("%08x", binary.BigEndian.Uint32(sum[:4]))
	env := []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(o.Epoch.Unix(), 10), "MTOOLS_SKIP_CHECK=1"}
	// One FAT (-f 1): gokrazy's FAT reader, which finds /cmdline.txt for its
	// A/B switch, assumes the root directory follows a single FAT.
	if err := run(ctx, env, "mkfs.vfat", "-C", "--invariant", "-F", "16", "-f", "1", "-n", "POSTVAULT",
		"-i", volid, out, strconv.FormatInt(o.BootSize/1024, 10)); err != nil {
		return err
	}
	if err := run(ctx, env, "mmd", "-i", out, "::EFI", "::EFI/BOOT", "::loader", "::loader/entries"); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names) // same order, same FAT
	for _, n := range names {
		src := files[n]
		if !strings.HasPrefix(src, stage) {
			// Inputs (the kernel in the module cache) are not ours to
			// touch: copy them into the stage to give them the epoch.
			p := filepath.Join(stage, "in-"+strings.ReplaceAll(n, "/", "_"))
			if err := copyFile(p, src, 0o644, o.Epoch); err != nil {
				return err
			}
			src = p
		}
		if err := run(ctx, env, "mcopy", "-m", "-i", out, src, "::"+n); err != nil {
			return err
		}
	}
	return nil
}

// makeRoot writes a root squashfs to out.
func makeRoot(ctx context.Context, out, work string, o *Options) error {
	stage := filepath.Join(work, "root")
	for _, d := range []string{"gokrazy", "user", "etc", "dev", "proc", "sys", "tmp", "run", "perm"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			return fmt.Errorf("gokrazy: %w", err)
		}
	}
	if err := copyFile(filepath.Join(stage, "gokrazy", "init"), o.Init, 0o755, o.Epoch); err != nil {
		return err
	}
	for name, src := range o.Programs {
		if err := copyFile(filepath.Join(stage, "user", name), src, 0o755, o.Epoch); err != nil {
			return err
		}
	}
	files := map[string][]byte{
		// No newline: gokrazy.Boot passes the file to sethostname as is.
		"/etc/hostname": []byte(o.Hostname),
		"/etc/hosts":    []byte("127.0.0.1 localhost\n::1 localhost\n"),
	}
	for p, b := range o.Files {
		files[p] = b
	}
	for p, b := range files {
		full := filepath.Join(stage, filepath.FromSlash(strings.TrimPrefix(p, "/")))
		if !strings.HasPrefix(full, stage+string(filepath.Separator)) {
			return fmt.Errorf("gokrazy: file path %q leaves the root", p)
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("gokrazy: %w", err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			return fmt.Errorf("gokrazy: %w", err)
		}
	}
	if err := os.Symlink("/tmp/resolv.conf", filepath.Join(stage, "etc", "resolv.conf")); err != nil {
		return fmt.Errorf("gokrazy: %w", err)
	}
	epoch := strconv.FormatInt(o.Epoch.Unix(), 10)
	return run(ctx, nil, "mksquashfs", stage, out, "-noappend", "-all-root", "-reproducible",
		"-comp", "gzip", "-Xcompression-level", "9", "-no-xattrs",
		"-all-time", epoch, "-mkfs-time", epoch, "-quiet", "-no-progress")
}

func copyFile(dst, src string, mode os.FileMode, t time.Time) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("gokrazy: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("gokrazy: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("gokrazy: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("gokrazy: %w", err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		return fmt.Errorf("gokrazy: %w", err)
	}
	return os.Chtimes(dst, t, t)
}

// run runs a tool and returns its output in the error when it fails.
func run(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("gokrazy: %s: %v\n%s", name, err, out.Bytes())
	}
	return nil
}

// requireTools fails with the Debian packages to install when a tool is missing.
func requireTools(names ...string) error {
	pkgs := map[string]string{"mksquashfs": "squashfs-tools", "mkfs.vfat": "dosfstools",
		"mmd": "mtools", "mcopy": "mtools", "mtype": "mtools"}
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n+" (Debian package "+pkgs[n]+")")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("gokrazy: missing tools: %s; run `make deps`", strings.Join(missing, ", "))
	}
	return nil
}

// MissingTools reports the image tools that are not installed, or nil.
func MissingTools() error {
	if err := requireTools("mksquashfs", "mkfs.vfat", "mmd", "mcopy", "mtype"); err != nil {
		return err
	}
	if _, err := os.Stat(systemdBootDebian); err != nil {
		return fmt.Errorf("gokrazy: %s missing (Debian package systemd-boot-efi); run `make deps`", systemdBootDebian)
	}
	return nil
}

func goListModuleDir(ctx context.Context, mod string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return "", fmt.Errorf("gokrazy: go list -m %s: %v %s", mod, err, stderr)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("gokrazy: module %s is not in the module cache (go mod download %s)", mod, mod)
	}
	return dir, nil
}
