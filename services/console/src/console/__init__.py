"""The console (控制台): server-rendered pages for the people who use the platform, calling
the services' public APIs with the signed-in person's own token (decision 0035)."""
