package gokrazy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

// ReadPartitions reads the GPT of an image and returns its partitions.
func ReadPartitions(image string) ([]Partition, error) {
	f, err := os.Open(image)
	if err != nil {
		return nil, fmt.Errorf("gokrazy: %w", err)
	}
	defer f.Close()
	t, err := gpt.Read(f, SectorSize, SectorSize)
	if err != nil {
		return nil, fmt.Errorf("gokrazy: %s: reading GPT: %w", image, err)
	}
	var parts []Partition
	for _, p := range t.Partitions {
		if p.Type == gpt.Unused {
			continue
		}
		parts = append(parts, Partition{
			Name:  p.Name,
			GUID:  p.GUID,
			Start: int64(p.Start) * SectorSize,
			Size:  int64(p.End-p.Start+1) * SectorSize,
		})
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("gokrazy: %s: no partitions", image)
	}
	return parts, nil
}

// ReadBootFile returns a file of the image's boot partition (e.g.
// "cmdline.txt"), read with mtools' mtype.
func ReadBootFile(image, name string) ([]byte, error) {
	parts, err := ReadPartitions(image)
	if err != nil {
		return nil, err
	}
	if err := requireTools("mtype"); err != nil {
		return nil, err
	}
	cmd := exec.Command("mtype", "-i", fmt.Sprintf("%s@@%d", image, parts[0].Start), "::"+name)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("gokrazy: %s: reading %s: %v %s", image, name, err, stderr.Bytes())
	}
	return out, nil
}

// ImageCmdline returns the kernel command line stored in the image's
// /cmdline.txt, for booting its kernel with -kernel.
func ImageCmdline(image string) (string, error) {
	b, err := ReadBootFile(image, "cmdline.txt")
	if err != nil {
		return "", err
	}
	c := strings.TrimSpace(string(b))
	if !strings.Contains(c, "root=") {
		return "", fmt.Errorf("gokrazy: %s: cmdline.txt has no root=: %q", image, c)
	}
	return c, nil
}
