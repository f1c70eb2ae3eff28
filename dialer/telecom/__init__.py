"""The telecom core: numbers, voice and DTMF models, MTT's sb-api and RPC clients, webhook events,
Q.850 causes, the redial policy and the Redis rate and concurrency limiters.

It knows nothing of campaigns, processes or the simulator; everything else may import it.
"""
