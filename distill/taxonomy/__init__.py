"""LAB taxonomies: InstructLab's tree of qna.yaml leaves — reading, validating, and resolving documents."""
