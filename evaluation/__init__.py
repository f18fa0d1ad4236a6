"""Evaluation and learning on reasoning-gym data sets, over the service's one seam.

``evaluate`` answers held-out questions with named configurations and scores them;
``learn`` fills a memory from a training stream. Both answer through
``service.compose.Service`` like every way in; the core (agent/, memory/, retrieval/)
knows nothing of data sets or seeds.
"""
