from django.apps import AppConfig


class NpsConfig(AppConfig):
    name = "nps"
    verbose_name = "NPS"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from nps import loginguard

        user_login_failed.connect(loginguard.on_login_failed, dispatch_uid="nps-loginguard")
        user_logged_in.connect(loginguard.on_logged_in, dispatch_uid="nps-loginguard")
