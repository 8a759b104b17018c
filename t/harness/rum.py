"""RUM configuration shared by tests that need injection on but do not test
its options: the seed configuration's application and client token."""

MINIMAL_RUM = """
    datadog_rum on;
    datadog_rum_config "v5" {
        "applicationId" "db5d092e-055d-4d4d-a4ca-b8f257fb4dcf";
        "clientToken" "pubbf870a54b30d159dc08f02bfff4159f9";
    }"""
