// Package hal is postvault's hardware abstraction for the board: its drive
// bays, their LEDs and sensors, and the front status LED, in periph.io's
// vocabulary. An LED is a periph gpio.PinOut, a presence detector a
// gpio.PinIn, a thermometer a physic.SenseEnv, and the Board and each Bay are
// conn.Resources whose Halt turns their LEDs off. Nothing above hal knows
// which board it runs on: the firmware opens a Board by profile name, by
// board file or by detection (Open, Detect) and speaks only of bays.
//
// # Bays and disk ports
//
// A bay has a number, 1-based as printed on the chassis, and a disk-port
// key that says which controller port its connector is wired to. The key is
// the controller's PCI address as the kernel writes it, a slash, and the
// kernel's libata port name:
//
//	0000:00:1f.2/ata3
//
// that is "dddd:bb:dd.f/ataN" in lower-case hex, N the number of the
// kernel's ataN device (1-based, unique per machine, stable across boots
// for fixed hardware, unlike sdX letters). It is read from the disk's sysfs
// path: /sys/block/sdX resolves to .../0000:00:1f.2/ata3/host2/target2:0:0/...,
// and the PCI device directly above the ataN element names the controller.
// A disk behind a port multiplier adds the multiplier port ("ata3.2"), and
// a controller not on PCI (a platform AHCI on an ARM board) is named by its
// sysfs device directory ("fe300000.sata/ata1"). drivers/sata reports every
// disk with the same key, so the firmware maps a disk to its bay with
// Board.BayByPort. CheckPort validates a key, PortKey builds one.
//
// # Indicator patterns
//
// A bay shows one of the IBPI patterns (SFF-8489) that Intel's ledmon and
// ledctl use. On the bay's fault LED (amber/red) and locate LED (blue or
// white), software-blinked where the hardware cannot blink:
//
//	pattern       fault LED                     locate LED
//	normal        off                           off
//	locate        off                           4 Hz blink (125 ms on, 125 off)
//	fail          on                            off
//	rebuild       off                           1 Hz blink (500 ms on, 500 off)
//	pfa           1 Hz blink                    off
//	hotspare      off                           100 ms flash every 2 s
//	degraded      2 flashes of 150 ms every 2 s off
//	failed_array  4 Hz blink                    off
//
// A bay with only one of the two LEDs shows the fault column on it where that
// is ever lit, the locate column otherwise. The activity LED is not part of
// a pattern: Bay.Blip lights it for 50 ms. The status LED shows a Status:
// off, ok (on), busy (1 Hz) or attention (4 Hz).
//
// Bays behind an AHCI enclosure (em_message, SGPIO backplanes) have fault
// and locate "LEDs" that are bits of the enclosure message; the enclosure's
// own processor renders normal, locate, fail and rebuild from the bit
// combinations ledmon writes (see hal/ahciem), so those four are steady
// there, and the other four are blinked in software on the bits.
//
// # One owner per board
//
// All LED state of a board belongs to one goroutine. SetPattern, SetStatus,
// Blip and Halt are messages to it. It derives every blinking LED's level
// from the time elapsed since one monotonic epoch taken when the board was
// made, so a late wake-up never shifts later edges (no drift), and all bays
// blink in phase. It writes a pin only when the level the LED should show
// differs from the level it shows, so a pattern change that leaves an LED's
// level alone never toggles it (no flicker). Between messages it sleeps
// until the next edge of any blinking LED; with nothing blinking it does not
// wake. A board writes no LED until told to: opening a board to change one
// bay leaves the other bays as they are.
//
// Options.Solid shows blinking waves as steady light, for a process that
// sets a pattern and exits: blinking needs a running process, and while the
// appliance firmware runs, it owns the LEDs.
//
// # Backends and profiles
//
// Backends live in subpackages and produce periph pins: hal/ledclass (Linux
// LED class devices through periph's sysfs LED driver), hal/gpioline (GPIO
// lines through periph's gpioioctl), hal/ahciem (AHCI enclosure management
// through /sys/class/scsi_host/hostN/em_message) and hal/sim (the simulated
// board). Board profiles (qemu, generic-ahci, rpi-sata-hat, simulated) are
// board files built into the binary; a new chassis needs a board file, not
// code. docs/board-profiles.md describes the format.
package hal
