"""Web pages: the insured person's portal, the service-hall console, the pharmacy counter.

Served by the same application, in Simplified Chinese, with every asset in the package.
The pages talk to the REST API and the gateway with the signed-in role's token.
"""
