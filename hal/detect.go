package hal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/postvault/postvault/hal/ahciem"
)

// ErrUnknownBoard is returned (wrapped) by Detect when nothing under the
// sysfs root identifies a board.
var ErrUnknownBoard = errors.New("hal: cannot tell which board this is")

// Detect picks a built-in profile from what the sysfs root says about the
// machine, in this order:
//
//  1. a device-tree model (firmware/devicetree/base/model) naming a
//     Raspberry Pi: rpi-sata-hat;
//  2. a DMI system vendor (class/dmi/id/sys_vendor) of "QEMU": qemu;
//  3. any AHCI port (class/scsi_host/host*/proc_name "ahci"): generic-ahci.
//
// Anything else is ErrUnknownBoard: choose the profile or board file by
// configuration. A custom chassis is always chosen by configuration.
func Detect(root string) (string, error) {
	if m, ok := readTrim(root, "firmware/devicetree/base/model"); ok && strings.Contains(m, "Raspberry Pi") {
		return ProfileRPiSATAHat, nil
	}
	if v, ok := readTrim(root, "class/dmi/id/sys_vendor"); ok && v == "QEMU" {
		return ProfileQEMU, nil
	}
	if ports, err := ahciem.Ports(root); err == nil && len(ports) > 0 {
		return ProfileGenericAHCI, nil
	}
	return "", fmt.Errorf("%w from %s: no Raspberry Pi device tree, no QEMU DMI vendor, no AHCI port", ErrUnknownBoard, root)
}

// readTrim reads a short sysfs text file; device-tree strings end in NUL.
func readTrim(root, rel string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00")), true
}
