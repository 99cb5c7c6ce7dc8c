# Guest test kernels: filled in with the VMX core (each guest is a multiboot2 image).
guests:
