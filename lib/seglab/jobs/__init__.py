"""SageMaker jobs: ``seglab submit`` starts one, ``seglab job`` runs inside it, ``seglab pull``
brings its run folder home, ``seglab sweep --on sagemaker`` does all three for many trials.

S3 layout of one trial under the user's ``--s3-prefix``::

    <prefix>/<experiment>/<trial>/input/config/params.yaml   effective config (channel ``config``)
    <prefix>/<experiment>/<trial>/input/data/<table>          the table (channel ``data``), unless on S3
    <prefix>/<experiment>/<trial>/run/                        the run folder, uploaded by the job
    <prefix>/<experiment>/<trial>/output/                     SageMaker's own output (training jobs)

boto3 is imported inside functions only: it is the optional ``sagemaker`` extra.
"""
