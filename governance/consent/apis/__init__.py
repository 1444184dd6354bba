"""The consent and data-subject rights API under ``/api/v1/`` (one APIView per operation).

| path | method | roles |
| --- | --- | --- |
| ``consent`` | POST | pipeline (consent platforms sync), compliance_officer (paper forms) |
| ``consent/import`` | POST | pipeline, compliance_officer |
| ``consent/<subject_id>`` | GET | compliance_officer, auditor, pipeline |
| ``consent-notices`` | GET / POST | compliance_officer, auditor, pipeline / compliance_officer |
| ``datasets/<name>/versions/<v>/eligibility`` | GET | data_scientist, pipeline, compliance_officer, auditor |
| ``privacy-requests`` | GET / POST | compliance_officer, auditor / compliance_officer, pipeline (web forms) |
| ``privacy-requests/<id>`` | GET | compliance_officer, auditor |
| ``privacy-requests/<id>/status``, ``privacy-requests/<id>/impact`` | POST | compliance_officer |
| ``privacy-requests/<id>/erase-rows``, ``privacy-requests/<id>/exemptions`` | POST | compliance_officer |
| ``records-of-processing`` | GET | compliance_officer, auditor |
"""
