"""Printable documents made on the server: the enrolment sheet (one card per code, with
QR codes) and its CSV for mail-merge."""
