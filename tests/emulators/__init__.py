"""Device emulators for the end-to-end tests, one per shipped profile, each written from the
device's documented protocol in /work/shared/devices.md (not from Oscar's code)."""

from tests.emulators.base import Command, Connection, Refusal, TcpEmulator, UdpEmulator
from tests.emulators.generic import LineDevice
from tests.emulators.projectors import Christie, EpsonEscVP, NTControl, PJLink, SonyADCP
from tests.emulators.switchers import ExtronSIS, KramerP3000, Videohub, Watchout

# profile name -> the emulator of that kind of device
BY_PROFILE: dict[str, type[TcpEmulator]] = {
    "generic": LineDevice,
    "pjlink": PJLink,
    "ntcontrol": NTControl,
    "extron-sis": ExtronSIS,
    "videohub": Videohub,
    "watchout": Watchout,
    "kramer-p3000": KramerP3000,
    "christie": Christie,
    "sony-adcp": SonyADCP,
    "epson-escvp": EpsonEscVP,
}

__all__ = ["BY_PROFILE", "Christie", "Command", "Connection", "EpsonEscVP", "ExtronSIS",
           "KramerP3000", "LineDevice", "NTControl", "PJLink", "Refusal", "SonyADCP",
           "TcpEmulator", "UdpEmulator", "Videohub", "Watchout"]
