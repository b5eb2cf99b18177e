"""Stand-ins for third parties outside the system (SMS providers' APIs, SMTP), shared with bench/."""
