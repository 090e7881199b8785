"""A Tekton PipelineRun translated: its tasks read, ordered and bound (reading), then put into one Pod (assembling).

Stands on the Task translation (generator.tekton); `translating.translate` picks a Pipeline's or a Task's path.
"""
