"""Azurite, Microsoft's Azure Storage emulator (npm, pinned in lab/package.json), for blob storage.

Started by the lab over HTTPS with the lab CA's certificate (options from Azurite's README):
`--disableTelemetry` (it phones home otherwise), `--skipApiVersionCheck` (azure-storage-blob
12.31 sends an x-ms-version newer than Azurite 3.37 knows), `--oauth basic` (bearer tokens
from the lab's Entra are accepted), NODE_EXTRA_CA_CERTS so server-side copies between URLs
trust the lab CA. Each lab storage account is an Azurite account (AZURITE_ACCOUNTS, read at
start-up), so creating a storage account restarts Azurite; data persists in --location.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
from pathlib import Path

log = logging.getLogger(__name__)

LAB_DIR = Path(__file__).resolve().parents[1]
BLOB_MAIN = LAB_DIR / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


def available() -> bool:
    return BLOB_MAIN.exists() and shutil.which("node") is not None


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class Azurite:
    def __init__(self, state_dir: Path, cert: Path, key: Path, ca: Path, host: str = "127.0.0.1"):
        self.location = state_dir / "azurite"
        self.cert, self.key, self.ca, self.host = cert, key, ca, host
        self.port = 0
        self.accounts: dict[str, str] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._restart: asyncio.Task | None = None
        self.restarts = 0

    @property
    def blob_base(self) -> str:
        return f"https://{self.host}:{self.port}"

    def blob_endpoint(self, account: str) -> str:
        return f"{self.blob_base}/{account}/"

    async def start(self) -> None:
        if not available():
            raise RuntimeError(f"Azurite is not installed: run `npm ci --prefix {LAB_DIR}` (needs Node.js and npm)")
        self.location.mkdir(parents=True, exist_ok=True)
        self.port = self.port or _free_port(self.host)
        env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(self.ca)}
        if self.accounts:
            env["AZURITE_ACCOUNTS"] = ";".join(f"{name}:{key}" for name, key in self.accounts.items())
        self._process = await asyncio.create_subprocess_exec(
            shutil.which("node"), str(BLOB_MAIN), "--blobHost", self.host, "--blobPort", str(self.port),
            "--location", str(self.location), "--disableTelemetry", "--skipApiVersionCheck", "--silent",
            "--cert", str(self.cert), "--key", str(self.key), "--oauth", "basic",
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        await self._wait_listening()
        log.info("Azurite listens on %s (pid %s, %d accounts)", self.blob_base, self._process.pid, len(self.accounts))

    async def _wait_listening(self) -> None:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            if self._process.returncode is not None:
                error = (await self._process.stderr.read()).decode(errors="replace")
                raise RuntimeError(f"Azurite exited with {self._process.returncode}: {error.strip()[:2000]}")
            try:
                _reader, writer = await asyncio.open_connection(self.host, self.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise RuntimeError(f"Azurite did not listen on {self.blob_base} within {START_TIMEOUT_S:.0f} s")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()

    def add_account(self, name: str, key: str) -> None:
        """Register an account; Azurite reads accounts at start-up, so it restarts (in the background)."""
        self.accounts[name] = key
        previous = self._restart

        async def restart() -> None:
            if previous is not None:
                await previous
            await self.stop()
            await self.start()
            self.restarts += 1

        self._restart = asyncio.get_running_loop().create_task(restart())

    def ready(self) -> bool:
        """True once every account added so far is being served."""
        if self._restart is not None and self._restart.done() and self._restart.exception() is not None:
            raise self._restart.exception()
        return self._restart is None or self._restart.done()
