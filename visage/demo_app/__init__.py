"""The Streamlit demo: photo or camera snapshot in, boxed faces with estimates, ethics notes and fairness results out."""
