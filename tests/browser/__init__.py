"""Drivers for the browser tests: headless Chromium through the DevTools protocol (cdp.py)."""
